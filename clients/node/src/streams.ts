// The two streaming results: a Generation (Inference.Generate) and a
// ModelLoad (Runtime.LoadModel), each a ServerStream with helpers that read
// it to the end.
import { ServerStream } from './calls';
import type { Finished__Output } from './generated/ggufd/v1/Finished';
import type { GenerateEvent__Output } from './generated/ggufd/v1/GenerateEvent';
import type { LoadModelEvent__Output } from './generated/ggufd/v1/LoadModelEvent';
import type { ModelInfo__Output } from './generated/ggufd/v1/ModelInfo';
import type { Started__Output } from './generated/ggufd/v1/Started';

/**
 * A running Generate: iterate it for the events (one `started`, `progress`
 * during long prefills, `chunk`s, one `finished`), or call text() or
 * textChunks(). `started` and `finished` are kept as they pass.
 */
export class Generation extends ServerStream<GenerateEvent__Output> {
  started: Started__Output | undefined;
  finished: Finished__Output | undefined;

  /** The id to pass to GgufdClient.cancel(). */
  readonly requestId: string;

  constructor(requestId: string, ...stream: ConstructorParameters<typeof ServerStream<GenerateEvent__Output>>) {
    super(...stream);
    this.requestId = requestId;
  }

  override async *[Symbol.asyncIterator](): AsyncIterator<GenerateEvent__Output> {
    const events = super[Symbol.asyncIterator]();
    // Leaving this loop early returns the inner iterator, which cancels the call.
    for await (const event of { [Symbol.asyncIterator]: () => events }) {
      if (event.started) this.started = event.started;
      if (event.finished) this.finished = event.finished;
      yield event;
    }
  }

  /** The generated text piece by piece, as the chunks arrive. */
  async *textChunks(): AsyncGenerator<string> {
    for await (const event of this) {
      if (event.chunk?.text) yield event.chunk.text;
    }
  }

  /** Reads the whole stream and returns the generated text. */
  async text(): Promise<string> {
    let text = '';
    for await (const piece of this.textChunks()) text += piece;
    return text;
  }
}

/** A running LoadModel: LoadProgress events, then the ModelInfo. */
export class ModelLoad extends ServerStream<LoadModelEvent__Output> {
  /** Reads the stream to its end and returns the loaded model's info. */
  async info(): Promise<ModelInfo__Output> {
    let model: ModelInfo__Output | undefined;
    for await (const event of this) model = event.model ?? model;
    if (!model) throw new Error('LoadModel ended without ModelInfo');
    return model;
  }
}

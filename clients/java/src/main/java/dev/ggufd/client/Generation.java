package dev.ggufd.client;

import dev.ggufd.v1.Finished;
import dev.ggufd.v1.GenerateEvent;
import dev.ggufd.v1.Started;
import dev.ggufd.v1.Token;
import java.util.ArrayList;
import java.util.List;

/**
 * A whole Generate stream folded into one value: the concatenated chunk text, the Started and
 * Finished events, and the per-token data when the request asked for it.
 */
public record Generation(String text, Started started, Finished finished, List<Token> tokens) {

  /** Folds events one at a time; used by both the blocking and the async calls. */
  static final class Builder {
    private final StringBuilder text = new StringBuilder();
    private final List<Token> tokens = new ArrayList<>();
    private Started started = Started.getDefaultInstance();
    private Finished finished;

    void add(GenerateEvent event) {
      switch (event.getEventCase()) {
        case STARTED -> started = event.getStarted();
        case CHUNK -> {
          text.append(event.getChunk().getText());
          tokens.addAll(event.getChunk().getTokensList());
        }
        case FINISHED -> finished = event.getFinished();
        default -> {
          // Progress and events newer than this client carry nothing to fold.
        }
      }
    }

    Generation build() {
      if (finished == null) {
        // The server ends every successful stream with Finished; an OK status without it
        // means the stream was cut, and a partial text must not pass for a whole one.
        throw new IllegalStateException("Generate stream ended without a Finished event");
      }
      return new Generation(text.toString(), started, finished, List.copyOf(tokens));
    }
  }
}

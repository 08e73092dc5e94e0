package dev.ggufd.client;

import dev.ggufd.v1.GenerateEvent;
import io.grpc.Context;
import io.grpc.StatusRuntimeException;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.CancellationException;

/**
 * The events of one blocking Generate call, read as an iterator. The call runs inside its own
 * {@link Context.CancellableContext}, so {@link #cancel()} (or {@link #close()} before the end)
 * cancels the RPC: the server stops generating within a token. Errors surface from {@link
 * #hasNext()} and {@link #next()} as {@link GgufdException}.
 *
 * <pre>{@code
 * try (GenerateStream stream = client.generate(request)) {
 *   while (stream.hasNext()) { ... stream.next() ... }
 * }
 * }</pre>
 */
public final class GenerateStream implements Iterator<GenerateEvent>, AutoCloseable {
  private final Context.CancellableContext context;
  private final Iterator<GenerateEvent> events;
  private boolean done;

  GenerateStream(Context.CancellableContext context, Iterator<GenerateEvent> events) {
    this.context = context;
    this.events = events;
  }

  @Override
  public boolean hasNext() {
    if (done) {
      return false;
    }
    try {
      boolean more = events.hasNext();
      if (!more) {
        finish();
      }
      return more;
    } catch (StatusRuntimeException e) {
      finish();
      throw GgufdException.from(e);
    }
  }

  @Override
  public GenerateEvent next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    try {
      return events.next();
    } catch (StatusRuntimeException e) {
      finish();
      throw GgufdException.from(e);
    }
  }

  /** Reads the rest of the stream and folds it, with the events already read left out. */
  public Generation collect() {
    Generation.Builder builder = new Generation.Builder();
    while (hasNext()) {
      builder.add(next());
    }
    return builder.build();
  }

  /**
   * Cancels the call (idempotent). The next {@link #hasNext()} throws a GgufdException with code
   * CANCELLED unless the stream had already ended.
   */
  public void cancel() {
    context.cancel(new CancellationException("cancelled by the client"));
  }

  /** Cancels the call if it is still running; a finished stream is left as it is. */
  @Override
  public void close() {
    if (!done) {
      cancel();
      done = true;
    }
  }

  private void finish() {
    done = true;
    // Releases the context's listeners; the call itself has already ended.
    context.cancel(null);
  }
}

package dev.ggufd.client;

import dev.ggufd.v1.GenerateRequest;
import io.grpc.stub.ClientCallStreamObserver;

/** A handle on an async Generate call, to cancel it (ClientCall.cancel underneath). */
public final class AsyncGeneration {
  private volatile ClientCallStreamObserver<GenerateRequest> call;
  private volatile boolean cancelRequested;

  AsyncGeneration() {}

  void bind(ClientCallStreamObserver<GenerateRequest> call) {
    this.call = call;
    if (cancelRequested) {
      call.cancel("cancelled by the client", null);
    }
  }

  /**
   * Cancels the call (idempotent): the observer gets onError with a GgufdException whose code is
   * CANCELLED, unless the stream had already ended.
   */
  public void cancel() {
    cancelRequested = true;
    ClientCallStreamObserver<GenerateRequest> c = call;
    if (c != null) {
      c.cancel("cancelled by the client", null);
    }
  }
}

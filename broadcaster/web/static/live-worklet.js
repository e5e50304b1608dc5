// Hands the microphone's samples (48 kHz, the first channel) to the page, 128 at a time.
class LoaxaCapture extends AudioWorkletProcessor {
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel) this.port.postMessage(channel.slice(0));
    return true;
  }
}
registerProcessor("loaxa-capture", LoaxaCapture);

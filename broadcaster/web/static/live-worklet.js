// The microphone's samples (48 kHz, first channel) in frames of 960 (20 ms), each with its loudest sample:
// 50 messages a second to the page rather than one per 128-sample block, so a busy phone keeps up.
const FRAME = 960;

class LoaxaCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.frame = new Float32Array(FRAME);
    this.filled = 0;
    this.peak = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    let offset = 0;
    while (offset < channel.length) {
      const count = Math.min(FRAME - this.filled, channel.length - offset);
      for (let i = 0; i < count; i++) {
        const sample = channel[offset + i];
        this.frame[this.filled + i] = sample;
        if (Math.abs(sample) > this.peak) this.peak = Math.abs(sample);
      }
      this.filled += count;
      offset += count;
      if (this.filled === FRAME) {
        this.port.postMessage({ samples: this.frame, peak: this.peak }, [this.frame.buffer]);
        this.frame = new Float32Array(FRAME);
        this.filled = 0;
        this.peak = 0;
      }
    }
    return true;
  }
}
registerProcessor("loaxa-capture", LoaxaCapture);

// The img2img / inpaint input: the uploaded image drawn at the generation size, and a mask painted over it.
// The mask is sent as diffusers expects it: white = repaint, black = keep.

export class MaskEditor {
  constructor(imageCanvas, maskCanvas) {
    this.imageCanvas = imageCanvas;
    this.maskCanvas = maskCanvas;
    this.image = null;
    this.painted = false;
    this.brush = 16;
    this.painting = false;
    this.enabled = false;
    maskCanvas.addEventListener('pointerdown', (e) => this.start(e));
    maskCanvas.addEventListener('pointermove', (e) => this.move(e));
    for (const type of ['pointerup', 'pointerleave', 'pointercancel']) {
      maskCanvas.addEventListener(type, () => { this.painting = false; this.last = null; });
    }
  }

  get hasImage() {
    return this.image !== null;
  }

  get hasMask() {
    return this.painted;
  }

  /** Inpainting paints the mask; img2img only shows the image. */
  setPaintable(enabled) {
    this.enabled = enabled;
    this.maskCanvas.style.display = enabled ? '' : 'none';
  }

  async load(file) {
    const url = URL.createObjectURL(file);
    try {
      const image = new Image();
      image.src = url;
      await image.decode();
      this.image = image;
    } finally {
      URL.revokeObjectURL(url);
    }
    this.clearMask();
    this.render();
  }

  /** Redraws at a new generation size; a painted mask is stretched along with the image. */
  resize(width, height) {
    if (!(width > 0 && height > 0)) return;
    if (this.imageCanvas.width === width && this.imageCanvas.height === height) return;
    const old = document.createElement('canvas');
    old.width = this.maskCanvas.width;
    old.height = this.maskCanvas.height;
    old.getContext('2d').drawImage(this.maskCanvas, 0, 0);
    for (const c of [this.imageCanvas, this.maskCanvas]) {
      c.width = width;
      c.height = height;
    }
    if (this.painted) this.maskCanvas.getContext('2d').drawImage(old, 0, 0, width, height);
    this.render();
  }

  /** The image scaled to cover the canvas and centre-cropped, as A1111's "crop and resize". */
  render() {
    const ctx = this.imageCanvas.getContext('2d');
    const {width, height} = this.imageCanvas;
    ctx.fillStyle = '#222';
    ctx.fillRect(0, 0, width, height);
    if (!this.image) return;
    const scale = Math.max(width / this.image.naturalWidth, height / this.image.naturalHeight);
    const w = this.image.naturalWidth * scale;
    const h = this.image.naturalHeight * scale;
    ctx.drawImage(this.image, (width - w) / 2, (height - h) / 2, w, h);
  }

  clearMask() {
    this.maskCanvas.getContext('2d').clearRect(0, 0, this.maskCanvas.width, this.maskCanvas.height);
    this.painted = false;
  }

  point(e) {
    const box = this.maskCanvas.getBoundingClientRect();
    return {
      x: (e.clientX - box.left) * this.maskCanvas.width / box.width,
      y: (e.clientY - box.top) * this.maskCanvas.height / box.height,
      scale: this.maskCanvas.width / box.width,
    };
  }

  start(e) {
    if (!this.enabled || !this.image) return;
    this.painting = true;
    this.maskCanvas.setPointerCapture(e.pointerId);
    this.last = null;
    this.move(e);
  }

  move(e) {
    if (!this.painting) return;
    const p = this.point(e);
    const ctx = this.maskCanvas.getContext('2d');
    ctx.strokeStyle = ctx.fillStyle = '#fff';
    ctx.lineCap = 'round';
    // The brush is sized in screen pixels, whatever the canvas is scaled to.
    ctx.lineWidth = this.brush * p.scale;
    ctx.beginPath();
    if (this.last) {
      ctx.moveTo(this.last.x, this.last.y);
      ctx.lineTo(p.x, p.y);
      ctx.stroke();
    } else {
      ctx.arc(p.x, p.y, ctx.lineWidth / 2, 0, 2 * Math.PI);
      ctx.fill();
    }
    this.last = p;
    this.painted = true;
  }

  /** The init image as base64 PNG (no data: prefix). */
  imageBase64() {
    return base64Of(this.imageCanvas);
  }

  /** The mask as a black and white base64 PNG. */
  maskBase64() {
    const out = document.createElement('canvas');
    out.width = this.maskCanvas.width;
    out.height = this.maskCanvas.height;
    const ctx = out.getContext('2d');
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.drawImage(this.maskCanvas, 0, 0);
    return base64Of(out);
  }
}

function base64Of(canvas) {
  const url = canvas.toDataURL('image/png');
  return url.slice(url.indexOf(',') + 1);
}

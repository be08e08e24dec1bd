// Recent generations, as the orchestrator lists them (GET /v1/generations): what every client made, kept across
// browsers and orchestrator restarts because the server rebuilds the list from the events topic.

import {api} from './api.js';

export class Gallery {
  /** @param onReuse called with (entry, image) when "reuse settings" is clicked */
  constructor(element, onReuse) {
    this.element = element;
    this.onReuse = onReuse;
    /** {requestId, infotext, images: [{index, seed}], settings?}; settings only for generations made on this page */
    this.entries = [];
  }

  /** Replaces the gallery with the server's most recent finished generations; on failure says why. */
  async load(limit) {
    let generations;
    try {
      generations = await api.recent(limit);
    } catch (e) {
      this.showMessage(`gallery unavailable: ${e.message}`);
      return;
    }
    const made = new Map(this.entries.map((e) => [e.requestId, e.settings]));
    this.entries = generations
      .filter((g) => g.status === 'succeeded' && g.images && g.images.length)
      .map((g) => ({
        requestId: g.requestId,
        infotext: g.infotext || '',
        images: g.images.map((i) => ({index: i.index, seed: i.seed})),
        settings: made.get(g.requestId),
      }));
    this.render();
  }

  /** A generation this page just finished, shown before the server is asked again. */
  add(entry) {
    this.entries = [entry, ...this.entries.filter((e) => e.requestId !== entry.requestId)];
    this.render();
  }

  showMessage(text) {
    const message = document.createElement('p');
    message.className = 'muted';
    message.textContent = text;
    this.element.replaceChildren(message);
  }

  render() {
    if (this.entries.length === 0) {
      this.showMessage('Nothing generated yet.');
      return;
    }
    this.element.replaceChildren(...this.entries.flatMap((entry) => entry.images.map((image) => this.card(entry, image))));
  }

  card(entry, image) {
    const card = document.createElement('figure');
    card.className = 'card';
    card.dataset.requestId = entry.requestId;
    card.dataset.index = image.index;
    const img = document.createElement('img');
    img.src = api.imageUrl(entry.requestId, image.index);
    img.alt = `image ${image.index} of ${entry.requestId}`;
    img.loading = 'lazy';
    img.addEventListener('error', () => card.classList.add('missing'), {once: true});
    const link = document.createElement('a');
    link.href = img.src;
    link.target = '_blank';
    link.append(img);
    const caption = document.createElement('figcaption');
    const info = document.createElement('pre');
    info.className = 'infotext';
    info.textContent = entry.infotext;
    const reuse = document.createElement('button');
    reuse.type = 'button';
    reuse.className = 'reuse small';
    reuse.textContent = 'reuse settings';
    reuse.addEventListener('click', () => this.onReuse(entry, image));
    const seed = document.createElement('span');
    seed.className = 'muted';
    seed.textContent = `seed ${image.seed}`;
    caption.append(info, reuse, seed);
    card.append(link, caption);
    return card;
  }
}

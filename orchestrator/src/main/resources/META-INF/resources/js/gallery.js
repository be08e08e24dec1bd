// Recent generations. The server keeps no list the page can ask for yet, so the gallery is what this browser made
// (kept in localStorage), merged with GET /v1/generations?limit=N once the server answers it.

import {api} from './api.js';

const STORAGE_KEY = 'sdmesh.gallery';
const MAX_ENTRIES = 60;

export class Gallery {
  /** @param onReuse called with (entry, image) when "reuse settings" is clicked */
  constructor(element, onReuse) {
    this.element = element;
    this.onReuse = onReuse;
    this.entries = this.read();
  }

  read() {
    try {
      const entries = JSON.parse(localStorage.getItem(STORAGE_KEY) || '[]');
      return Array.isArray(entries) ? entries : [];
    } catch (e) {
      return [];
    }
  }

  save() {
    this.entries = this.entries.slice(0, MAX_ENTRIES);
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(this.entries));
    } catch (e) {
      // storage full or disabled: the gallery still works for this page's lifetime
    }
  }

  /** @param entry {id, time, infotext, images: [{index, seed}], settings} */
  add(entry) {
    this.entries = [entry, ...this.entries.filter((e) => e.id !== entry.id)];
    this.save();
    this.render();
  }

  clear() {
    this.entries = [];
    this.save();
    this.render();
  }

  /** Adds the server's finished generations that this browser did not make. */
  async mergeServer(limit) {
    const statuses = await api.recent(limit);
    if (!statuses) return;
    const known = new Set(this.entries.map((e) => e.id));
    for (const s of statuses) {
      if (s.status !== 'succeeded' || !s.images || known.has(s.requestId)) continue;
      this.entries.push({
        id: s.requestId,
        time: 0,
        infotext: s.infotext || '',
        images: s.images.map((i) => ({index: i.index, seed: i.seed})),
        settings: {},
      });
    }
    this.save();
    this.render();
  }

  render() {
    this.element.replaceChildren();
    if (this.entries.length === 0) {
      const empty = document.createElement('p');
      empty.className = 'muted';
      empty.textContent = 'Nothing generated yet.';
      this.element.append(empty);
      return;
    }
    for (const entry of this.entries) {
      for (const image of entry.images) this.element.append(this.card(entry, image));
    }
  }

  card(entry, image) {
    const card = document.createElement('figure');
    card.className = 'card';
    card.dataset.requestId = entry.id;
    card.dataset.index = image.index;
    const img = document.createElement('img');
    img.src = api.imageUrl(entry.id, image.index);
    img.alt = `image ${image.index} of ${entry.id}`;
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

// A1111-style token counter ("12/75") from POST /v1/tokenize, asked at most once per pause in typing.

import {api} from './api.js';

const CHUNK_TOKENS = 75;
const DEBOUNCE_MS = 400;

/**
 * Prompt tokens in each 77-id encoder row: the ids between BOS and the first EOS (padding is EOS, or a pad id after
 * it, so the first EOS ends the row's prompt tokens). The EOS id is the last of the full id sequence.
 */
export function tokensPerChunk(response) {
  const ids = response.ids || [];
  const eos = ids[ids.length - 1];
  return (response.chunks || []).map((chunk) => {
    const end = chunk.indexOf(eos, 1);
    return (end < 0 ? chunk.length : end) - 1;
  });
}

export function tokenLabel(counts) {
  const total = counts.reduce((a, b) => a + b, 0);
  const max = Math.max(1, counts.length) * CHUNK_TOKENS;
  return counts.length > 1 ? `${total}/${max} (${counts.join(' + ')})` : `${total}/${max}`;
}

/** Keeps label showing the token count of textarea's prompt; returns a function that schedules a recount. */
export function watchTokens(textarea, label, context) {
  let timer = null;
  let asked = 0;
  const update = async () => {
    const ticket = ++asked;
    try {
      const {model, promptSyntax} = context();
      const response = await api.tokenize(model, textarea.value, promptSyntax);
      if (ticket !== asked) return; // an answer to an older text
      const counts = tokensPerChunk(response);
      label.textContent = tokenLabel(counts);
      label.title = counts.map((n, i) => `chunk ${i + 1}: ${n} tokens`).join('\n');
      label.classList.remove('unavailable');
    } catch (e) {
      if (ticket !== asked) return;
      label.textContent = '?/75';
      label.title = `token count unavailable: ${e.message}`;
      label.classList.add('unavailable');
    }
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(update, DEBOUNCE_MS);
  };
  textarea.addEventListener('input', schedule);
  return schedule;
}

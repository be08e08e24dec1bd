// The generation page: form -> POST /v1/generations, then the generation's SSE events drive the progress bar,
// previews, the result and the gallery.

import {api, ApiError} from './api.js';
import {Gallery} from './gallery.js';
import {settingsFromInfotext} from './infotext.js';
import {MaskEditor} from './mask.js';
import {watchTokens} from './tokens.js';

const $ = (id) => document.getElementById(id);
const form = $('generate-form');
const models = new Map();
const editor = new MaskEditor($('init-canvas'), $('mask-canvas'));
const gallery = new Gallery($('gallery'), reuseSettings);
const GALLERY_SIZE = 24;

let active = null; // {id, source, poll, started, settings}
let lastSeed = null;

// ---- form values -----------------------------------------------------------------------------------------------

function mode() {
  return form.elements.mode.value;
}

function numberField(name) {
  const text = form.elements[name].value.trim();
  return text === '' ? undefined : Number(text);
}

/** The request body; unset numbers are left out so the server's defaults apply. */
function collectRequest() {
  const seedText = $('seed').value.trim();
  const request = {
    model: $('model').value || undefined,
    prompt: $('prompt').value,
    negativePrompt: $('negativePrompt').value,
    promptSyntax: $('promptSyntax').value,
    scheduler: $('scheduler').value || undefined,
    steps: numberField('steps'),
    guidanceScale: numberField('guidanceScale'),
    width: numberField('width'),
    height: numberField('height'),
    batchSize: numberField('batchSize'),
    previewEvery: numberField('previewEvery'),
    seed: seedText === '' ? -1 : seedText,
  };
  if (mode() !== 'txt2img') {
    request.strength = numberField('strength');
    if (editor.hasImage) request.initImage = editor.imageBase64();
    if (mode() === 'inpaint' && editor.hasMask) request.mask = editor.maskBase64();
  }
  return request;
}

/** Sets form fields by name; a sampler or model the lists do not hold yet is added so the value is kept. */
function applySettings(settings) {
  for (const [name, value] of Object.entries(settings)) {
    const element = form.elements[name];
    if (!element || value === undefined || value === null) continue;
    if (element.tagName === 'SELECT') selectValue(element, String(value));
    else element.value = value;
  }
  if (settings.strength !== undefined && mode() === 'txt2img') setMode('img2img');
  $('prompt').dispatchEvent(new Event('input'));
  $('negativePrompt').dispatchEvent(new Event('input'));
  editor.resize(numberField('width'), numberField('height'));
}

function selectValue(select, value) {
  if (![...select.options].some((o) => o.value === value)) select.append(new Option(value, value));
  select.value = value;
}

function reuseSettings(entry, image) {
  const settings = {...settingsFromInfotext(entry.infotext || ''), ...entry.settings, seed: image.seed};
  applySettings(settings);
  form.scrollIntoView({behavior: 'smooth'});
}

function setMode(value) {
  form.elements.mode.value = value;
  onModeChange();
}

function onModeChange() {
  const m = mode();
  $('image-input').hidden = m === 'txt2img';
  $('mask-tools').hidden = m !== 'inpaint';
  editor.setPaintable(m === 'inpaint');
  editor.resize(numberField('width'), numberField('height'));
}

// ---- errors ----------------------------------------------------------------------------------------------------

function clearErrors() {
  for (const e of form.querySelectorAll('[data-error-for]')) e.textContent = '';
  for (const e of form.querySelectorAll('.field.invalid')) e.classList.remove('invalid');
  $('form-error').hidden = true;
  $('form-error').textContent = '';
}

/** Shows a problem next to its field when the form has that field, and always in the summary above the buttons. */
function showError(field, message) {
  const slot = field ? form.querySelector(`[data-error-for="${CSS.escape(field)}"]`) : null;
  if (slot) {
    slot.textContent = message;
    slot.closest('.field').classList.add('invalid');
  }
  const summary = $('form-error');
  summary.textContent = field ? `${field}: ${message}` : message;
  summary.hidden = false;
}

function showApiError(e) {
  if (e instanceof ApiError) showError(e.field, e.fieldMessage);
  else showError(null, `the mesh did not answer: ${e.message}`);
}

// ---- progress --------------------------------------------------------------------------------------------------

function setProgress(fraction, label) {
  const percent = Math.round(Math.max(0, Math.min(1, fraction)) * 100);
  $('progress').setAttribute('aria-valuenow', String(percent));
  $('progress-fill').style.width = `${percent}%`;
  $('progress-label').textContent = label;
}

function setRunning(running) {
  $('generate').disabled = running;
  $('cancel').disabled = !running;
}

// ---- one generation --------------------------------------------------------------------------------------------

async function generate(event) {
  event.preventDefault();
  if (active) return;
  clearErrors();
  if (mode() !== 'txt2img' && !editor.hasImage) {
    showError('initImage', 'choose an image for ' + mode());
    return;
  }
  if (mode() === 'inpaint' && !editor.hasMask) {
    showError('mask', 'paint the area to repaint');
    return;
  }
  const request = collectRequest();
  setRunning(true);
  setProgress(0, 'submitting…');
  let status;
  try {
    status = await api.generate(request);
  } catch (e) {
    setRunning(false);
    setProgress(0, 'not started');
    showApiError(e);
    return;
  }
  const {initImage, mask, ...settings} = request;
  active = {id: status.requestId, started: performance.now(), settings, source: null, poll: null};
  $('current').replaceChildren();
  $('current-info').textContent = '';
  $('progress').dataset.requestId = active.id;
  setProgress(0, 'queued');
  follow(active);
}

/** Events over SSE; if the stream breaks before the end, the status endpoint is polled instead. */
function follow(generation) {
  const source = new EventSource(api.eventsUrl(generation.id));
  generation.source = source;
  source.onmessage = (message) => {
    let e;
    try {
      e = JSON.parse(message.data);
    } catch (err) {
      return;
    }
    onEvent(generation, e);
  };
  source.onerror = () => {
    // EventSource reconnects by itself and would replay the terminal event; a terminal event closes it first.
    if (active !== generation) return;
    source.close();
    generation.poll = setInterval(() => poll(generation), 1000);
  };
}

async function poll(generation) {
  try {
    const s = await api.status(generation.id);
    const type = {queued: 'accepted', running: 'progress', succeeded: 'completed'}[s.status] || s.status;
    onEvent(generation, {...s, type, seeds: (s.images || []).map((i) => i.seed)});
  } catch (e) {
    if (e instanceof ApiError && e.problem.status === 404) finish(generation);
  }
}

function onEvent(generation, e) {
  if (active !== generation) return;
  switch (e.type) {
    case 'accepted':
      setProgress(0, 'queued');
      break;
    case 'progress':
      if (e.total) setProgress(e.step / e.total, `step ${e.step}/${e.total}`);
      if (e.preview) showPreview(e.preview);
      break;
    case 'preview':
      if (e.preview) showPreview(e.preview);
      break;
    case 'completed':
      completed(generation, e);
      finish(generation);
      break;
    case 'failed':
      setProgress(0, 'failed');
      showError(e.error && e.error.field, (e.error && e.error.message) || 'generation failed');
      finish(generation);
      break;
    case 'cancelled':
      setProgress(e.total ? (e.step || 0) / e.total : 0, 'cancelled');
      finish(generation);
      break;
    default:
      break;
  }
}

/** A preview (on a progress event, or an event of its own) is a base64 PNG, a data: URL or a URL. */
function showPreview(preview) {
  const src = /^(data:|https?:|\/)/.test(preview) ? preview : `data:image/png;base64,${preview}`;
  let img = $('current').querySelector('img.preview');
  if (!img) {
    img = document.createElement('img');
    img.className = 'preview';
    img.alt = 'preview';
    $('current').replaceChildren(img);
  }
  img.src = src;
}

function completed(generation, e) {
  const seconds = ((performance.now() - generation.started) / 1000).toFixed(1);
  setProgress(1, `done in ${seconds} s`);
  const images = (e.images || []).map((i) => ({index: i.index, seed: i.seed}));
  $('current').replaceChildren(...images.map((i) => {
    const img = document.createElement('img');
    img.src = api.imageUrl(generation.id, i.index);
    img.alt = `result ${i.index}`;
    img.className = 'result';
    return img;
  }));
  $('current-info').textContent = e.infotext || '';
  if (images.length) lastSeed = images[0].seed;
  gallery.add({requestId: generation.id, infotext: e.infotext || '', images, settings: generation.settings});
}

function finish(generation) {
  if (generation.source) generation.source.close();
  clearInterval(generation.poll);
  if (active === generation) {
    active = null;
    setRunning(false);
  }
}

async function cancel() {
  if (!active) return;
  $('cancel').disabled = true;
  setProgress(Number($('progress').getAttribute('aria-valuenow')) / 100, 'cancelling…');
  try {
    await api.cancel(active.id);
  } catch (e) {
    showApiError(e);
  }
}

// ---- start -----------------------------------------------------------------------------------------------------

async function loadLists() {
  const [modelList, schedulerList] = await Promise.allSettled([api.models(), api.schedulers()]);
  const sampler = $('scheduler');
  sampler.append(new Option('model default', ''));
  const select = $('model');
  if (modelList.status === 'fulfilled') {
    for (const m of modelList.value.models) {
      models.set(m.id, m);
      select.append(new Option(m.id, m.id, false, m.id === modelList.value.default));
    }
    onModelChange();
  }
  if (schedulerList.status === 'fulfilled') {
    // A1111's sampler names are the scheduler's aliases (some with options, e.g. Karras sigmas): one group per class.
    for (const s of schedulerList.value.schedulers) {
      const group = document.createElement('optgroup');
      group.label = s.name;
      for (const name of [...(s.aliases || []), s.name]) group.append(new Option(name, name));
      sampler.append(group);
    }
  }
  const failed = [modelList, schedulerList].filter((r) => r.status === 'rejected');
  $('mesh-status').textContent = failed.length
    ? `mesh not ready: ${failed[0].reason.message}`
    : `${models.size} model(s), ${sampler.querySelectorAll('optgroup').length} scheduler(s)`;
  $('mesh-status').classList.toggle('bad', failed.length > 0);
}

/** A model's own size is the starting size (512 for SD 1.x). */
function onModelChange() {
  const m = models.get($('model').value);
  if (m) {
    $('width').value = m.defaultSize;
    $('height').value = m.defaultSize;
    if (m.scheduler) $('scheduler').options[0].text = `model default (${m.scheduler})`;
    editor.resize(m.defaultSize, m.defaultSize);
  }
}

function start() {
  const context = () => ({model: $('model').value || undefined, promptSyntax: $('promptSyntax').value});
  const recount = [watchTokens($('prompt'), $('prompt-tokens'), context),
    watchTokens($('negativePrompt'), $('negative-tokens'), context)];
  const recountAll = () => recount.forEach((f) => f());
  $('model').addEventListener('change', () => { onModelChange(); recountAll(); });
  $('promptSyntax').addEventListener('change', recountAll);
  for (const radio of form.elements.mode) radio.addEventListener('change', onModeChange);
  for (const name of ['width', 'height']) {
    $(name).addEventListener('change', () => editor.resize(numberField('width'), numberField('height')));
  }
  $('init-file').addEventListener('change', async (e) => {
    const file = e.target.files[0];
    if (!file) return;
    try {
      await editor.load(file);
    } catch (err) {
      showError('initImage', `cannot read that image: ${err.message}`);
    }
  });
  $('brush').addEventListener('input', (e) => { editor.brush = Number(e.target.value); });
  $('mask-clear').addEventListener('click', () => editor.clearMask());
  $('seed-random').addEventListener('click', () => { $('seed').value = '-1'; });
  $('seed-reuse').addEventListener('click', () => { if (lastSeed !== null) $('seed').value = lastSeed; });
  $('cancel').addEventListener('click', cancel);
  form.addEventListener('submit', generate);
  // Ctrl+Enter in a prompt generates, as in A1111.
  for (const id of ['prompt', 'negativePrompt']) {
    $(id).addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        form.requestSubmit();
      }
    });
  }

  onModeChange();
  loadLists().then(() => { recountAll(); document.body.dataset.ready = 'true'; });
  gallery.load(GALLERY_SIZE).then(() => {
    const newest = gallery.entries[0];
    if (lastSeed === null && newest) lastSeed = newest.images[0].seed;
  });
}

start();

// The orchestrator's REST API (/v1). Errors come back as RFC 9457 problem JSON: {type, title, status, detail, field}.

export class ApiError extends Error {
  constructor(problem) {
    super(problem.detail || problem.title || `HTTP ${problem.status}`);
    this.problem = problem;
  }

  /** The request field at fault, or null when the error is about the whole request. */
  get field() {
    return this.problem.field || null;
  }

  /** The message without the "field: " prefix the server puts in front of it. */
  get fieldMessage() {
    const field = this.field;
    return field && this.message.startsWith(field + ': ') ? this.message.slice(field.length + 2) : this.message;
  }
}

async function send(method, url, body) {
  const init = {method, headers: {Accept: 'application/json, application/problem+json'}};
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = body;
  }
  const response = await fetch(url, init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (e) {
    data = null;
  }
  if (!response.ok) {
    throw new ApiError(data && typeof data === 'object' ? data : {status: response.status, title: response.statusText, detail: text});
  }
  return data;
}

/**
 * The request body as JSON text. Seeds are unsigned 64-bit and JavaScript numbers lose digits above 2^53, so the seed
 * travels as a digit string in the object and is written into the JSON as a bare number.
 */
export function requestJson(request) {
  const {seed, ...rest} = request;
  const json = JSON.stringify(rest);
  if (seed === undefined || seed === null || seed === '') return json;
  const literal = /^-?\d+$/.test(String(seed)) ? String(seed) : JSON.stringify(seed);
  return json === '{}' ? `{"seed":${literal}}` : `${json.slice(0, -1)},"seed":${literal}}`;
}

export const api = {
  models: () => send('GET', '/v1/models'),
  schedulers: () => send('GET', '/v1/schedulers'),
  tokenize: (model, prompt, promptSyntax) =>
    send('POST', '/v1/tokenize', JSON.stringify({model, prompt, promptSyntax})),
  generate: (request) => send('POST', '/v1/generations', requestJson(request)),
  status: (id) => send('GET', `/v1/generations/${encodeURIComponent(id)}`),
  cancel: (id) => send('DELETE', `/v1/generations/${encodeURIComponent(id)}`),
  /** The most recent generations, newest first: [{requestId, status, created, finished, images, infotext, error}]. */
  recent: async (limit) => (await send('GET', `/v1/generations?limit=${limit}`)).generations,
  imageUrl: (id, n) => `/v1/generations/${encodeURIComponent(id)}/images/${n}`,
  eventsUrl: (id) => `/v1/generations/${encodeURIComponent(id)}/events`,
};

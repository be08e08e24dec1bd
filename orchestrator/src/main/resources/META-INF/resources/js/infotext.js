// AUTOMATIC1111 infotext ("prompt\nNegative prompt: ...\nSteps: 20, Sampler: Euler, ...") read back into settings,
// as A1111's generation_parameters_copypaste.parse_generation_parameters does.

// key: value, where a value holding ',' ':' or a newline is written as a JSON string.
const PARAM = /\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)/g;

function unquote(value) {
  if (!value.startsWith('"') || !value.endsWith('"')) return value;
  try {
    return JSON.parse(value);
  } catch (e) {
    return value;
  }
}

/** @returns {{prompt: string, negativePrompt: string, params: Object<string,string>}} */
export function parseInfotext(text) {
  const lines = text.trim().split('\n');
  const params = {};
  const last = lines[lines.length - 1] || '';
  const pairs = [...last.matchAll(PARAM)];
  // A last line with fewer than 3 pairs is part of the prompt (A1111's rule).
  if (pairs.length >= 3) {
    for (const [, key, value] of pairs) params[key.trim()] = unquote(value.trim());
    lines.pop();
  }
  let prompt = '';
  let negativePrompt = '';
  let inNegative = false;
  for (const line of lines) {
    if (line.startsWith('Negative prompt:')) {
      inNegative = true;
      negativePrompt = line.slice('Negative prompt:'.length).trim();
    } else if (inNegative) {
      negativePrompt += '\n' + line;
    } else {
      prompt += (prompt ? '\n' : '') + line;
    }
  }
  return {prompt, negativePrompt, params};
}

/** The request fields an infotext sets (form field name -> value). */
export function settingsFromInfotext(text) {
  const {prompt, negativePrompt, params} = parseInfotext(text);
  const settings = {prompt, negativePrompt};
  if (params['Steps']) settings.steps = params['Steps'];
  if (params['Sampler']) settings.scheduler = params['Sampler'];
  if (params['CFG scale']) settings.guidanceScale = params['CFG scale'];
  if (params['Seed']) settings.seed = params['Seed'];
  if (params['Model']) settings.model = params['Model'];
  if (params['Denoising strength']) settings.strength = params['Denoising strength'];
  const size = /^(\d+)x(\d+)$/.exec(params['Size'] || '');
  if (size) {
    settings.width = size[1];
    settings.height = size[2];
  }
  return settings;
}

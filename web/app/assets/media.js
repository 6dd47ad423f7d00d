// The local camera and microphone: getting them (with the devices chosen), listing devices,
// and a level meter.

const VIDEO = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };
const AUDIO = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

export function videoConstraints(deviceId) {
  return deviceId ? { ...VIDEO, deviceId: { exact: deviceId } } : VIDEO;
}
export function audioConstraints(deviceId) {
  return deviceId ? { ...AUDIO, deviceId: { exact: deviceId } } : AUDIO;
}

// A reason in words for a failed getUserMedia.
export function mediaProblem(err) {
  if (!navigator.mediaDevices?.getUserMedia) return 'This browser cannot use a camera here (it needs https).';
  if (err?.name === 'NotAllowedError') return 'Camera and microphone are blocked for this site.';
  if (err?.name === 'NotFoundError') return 'No camera or microphone found.';
  if (err?.name === 'NotReadableError') return 'The camera or microphone is in use by another program.';
  return 'The camera or microphone could not be started.';
}

// One track of a kind, or null with the error; both kinds asked together first (one
// permission prompt), then each alone so that a missing camera still leaves the microphone.
export async function getLocalTracks({ audioDevice, videoDevice } = {}) {
  const result = { audio: null, video: null, problem: null };
  if (!navigator.mediaDevices?.getUserMedia) { result.problem = mediaProblem(null); return result; }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: audioConstraints(audioDevice), video: videoConstraints(videoDevice) });
    result.audio = stream.getAudioTracks()[0] ?? null;
    result.video = stream.getVideoTracks()[0] ?? null;
    return result;
  } catch (err) {
    result.problem = mediaProblem(err);
  }
  result.audio = await getTrack('audio', audioDevice);
  result.video = await getTrack('video', videoDevice);
  return result;
}

export async function getTrack(kind, deviceId) {
  try {
    const constraints = kind === 'audio' ? { audio: audioConstraints(deviceId) } : { video: videoConstraints(deviceId) };
    const stream = await navigator.mediaDevices.getUserMedia(constraints);
    return stream.getTracks()[0] ?? null;
  } catch {
    return null;
  }
}

export async function listDevices() {
  const devices = await navigator.mediaDevices?.enumerateDevices?.() ?? [];
  return {
    audio: devices.filter((d) => d.kind === 'audioinput'),
    video: devices.filter((d) => d.kind === 'videoinput'),
  };
}

// One AudioContext for the page: browsers limit how many may exist.
let audioContext = null;
export function sharedAudioContext() {
  audioContext ??= new AudioContext();
  if (audioContext.state === 'suspended') audioContext.resume().catch(() => {});
  return audioContext;
}

// The loudness of a track, 0..1, read on demand (RMS of the latest samples).
export function levelReader(track) {
  const ctx = sharedAudioContext();
  const source = ctx.createMediaStreamSource(new MediaStream([track]));
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 512;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  return {
    level() {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      return Math.min(1, Math.sqrt(sum / samples.length) * 4);
    },
    stop() { source.disconnect(); },
  };
}

// Drives `meter` (an element whose --level custom property the CSS draws) from a track.
export function startMeter(track, meter) {
  const reader = levelReader(track);
  let frame = requestAnimationFrame(function tick() {
    meter.style.setProperty('--level', track.enabled ? reader.level().toFixed(3) : '0');
    frame = requestAnimationFrame(tick);
  });
  return () => { cancelAnimationFrame(frame); reader.stop(); meter.style.setProperty('--level', '0'); };
}

/** Weight files and arrays. */
export { loadPth } from './pth.js';
export { loadSafetensors, saveSafetensors } from './safetensors.js';
export { loadNpy, saveNpy } from './npy.js';
export { loadWeights } from './weights.js';

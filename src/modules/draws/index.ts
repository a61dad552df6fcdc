export { DrawsService } from './draws.service.js';
export type { Draw, DrawInput, DrawPatch, Play, PlayInput, Prize, PrizeInput, PrizeKind, Presentation } from './draws.service.js';
export { pickWeighted, pickByValue, drawRandom, totalWeight } from './draws.random.js';

export { ProgramsService, clockOf, toProgram } from './programs.service.js';
export type { Program, CreateProgramInput, UpdateProgramInput } from './programs.service.js';

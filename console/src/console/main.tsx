import { createRoot } from 'react-dom/client';
import { ConsoleApp } from './App.js';

createRoot(document.getElementById('root')!).render(<ConsoleApp />);

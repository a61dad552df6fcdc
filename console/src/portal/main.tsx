import { createRoot } from 'react-dom/client';
import { PortalApp } from './App.js';

createRoot(document.getElementById('root')!).render(<PortalApp />);

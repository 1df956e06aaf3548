import { createFileRoute } from '@tanstack/react-router';
import { HomePage } from '../../features/pools/HomePage';

export const Route = createFileRoute('/_app/')({ component: HomePage });

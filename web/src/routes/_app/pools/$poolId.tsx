import { createFileRoute } from '@tanstack/react-router';
import { PoolPage } from '../../../features/pools/PoolPage';

export const Route = createFileRoute('/_app/pools/$poolId')({ component: PoolPage });

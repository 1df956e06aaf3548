import { createFileRoute } from '@tanstack/react-router';
import { ClaimsPage } from '../../../../features/claims/ClaimsPage';

export const Route = createFileRoute('/_app/pools/$poolId_/claims')({ component: ClaimsPage });

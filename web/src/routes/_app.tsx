import { createFileRoute } from '@tanstack/react-router';
import { AppLayout } from '../components/AppLayout';
import { requireSession } from '../features/auth/guard';

export const Route = createFileRoute('/_app')({
  beforeLoad: requireSession,
  component: AppLayout,
});

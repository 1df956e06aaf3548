import { createFileRoute } from '@tanstack/react-router';
import { LoginPage } from '../features/auth/LoginPage';
import { loginSearch, skipLoginWhenSignedIn } from '../features/auth/guard';

export const Route = createFileRoute('/login')({
  validateSearch: loginSearch,
  beforeLoad: skipLoginWhenSignedIn,
  component: LoginPage,
});

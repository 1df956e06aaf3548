import { createFileRoute } from '@tanstack/react-router';
import { LicensesPage } from '../../../features/licenses/LicensesPage';
import { licenseListSearch } from '../../../features/licenses/search';

export const Route = createFileRoute('/_app/licenses/')({ validateSearch: licenseListSearch, component: LicensesPage });

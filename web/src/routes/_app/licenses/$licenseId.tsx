import { createFileRoute } from '@tanstack/react-router';
import { LicensePage } from '../../../features/licenses/LicensePage';
import { licenseDetailSearch } from '../../../features/licenses/search';

export const Route = createFileRoute('/_app/licenses/$licenseId')({ validateSearch: licenseDetailSearch, component: LicensePage });

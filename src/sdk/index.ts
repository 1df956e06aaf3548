/** The licensepool client SDK (`import … from 'licensepool/client'`). */
export { LICENSE_TOKEN_ALG, LICENSE_TOKEN_TYPE, LicenseVerificationError, verifyLicense } from './verify.js';
export type { LicensePayload, LicenseVerificationCode, VerifyLicenseOptions } from './verify.js';

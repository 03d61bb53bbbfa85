/** This package's version, sent as `X-CobrowseSDKVersion` (a unit test keeps it equal to package.json's). */
export const VERSION = '0.1.0'

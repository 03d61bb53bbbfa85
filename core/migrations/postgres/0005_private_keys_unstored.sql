-- Private halves of generated keys were stored as plain PEM. Tandem now stores a private half
-- only sealed under `key_encryption_key` (prefixed `sealed:v1:`), so the plain ones are erased:
-- the public halves stay and keep verifying tokens; `tandem token` needs a new key
-- (`tandem keys generate --out FILE`) to sign with.
UPDATE account_keys SET private_pem = NULL
WHERE private_pem IS NOT NULL AND private_pem NOT LIKE 'sealed:v1:%';

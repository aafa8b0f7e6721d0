#!/usr/bin/env sh
# ansible-vault password client: the password lives outside the repository, in the
# PAGENOW_VAULT_PASSWORD environment variable (e.g. filled from your password manager).
# Use: ansible-playbook --vault-password-file inventories/vault-password.sh ...
if [ -z "${PAGENOW_VAULT_PASSWORD:-}" ]; then
  echo "vault-password.sh: set PAGENOW_VAULT_PASSWORD" >&2
  exit 1
fi
printf '%s\n' "$PAGENOW_VAULT_PASSWORD"

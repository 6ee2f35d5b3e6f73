#!/usr/bin/env bash
# Peer (a): the KMS.4 fix that circulates as a bash loop over the AWS CLI, written here to do what it
# does: list keys, ask describe-key once per question (one aws process each), cancel deletion and
# enable PendingDeletion keys, and enable rotation on every CUSTOMER + SYMMETRIC_DEFAULT key.
# Endpoint and credentials come from the environment (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...).
set -u
for region in ${KMS4_REGIONS:-us-east-1}; do
  for key in $(aws kms list-keys --region "$region" --query 'Keys[].KeyId' --output text); do
    manager=$(aws kms describe-key --region "$region" --key-id "$key" --query KeyMetadata.KeyManager --output text)
    spec=$(aws kms describe-key --region "$region" --key-id "$key" --query KeyMetadata.KeySpec --output text)
    state=$(aws kms describe-key --region "$region" --key-id "$key" --query KeyMetadata.KeyState --output text)
    if [ "$state" = "PendingDeletion" ]; then
      aws kms cancel-key-deletion --region "$region" --key-id "$key" > /dev/null
      aws kms enable-key --region "$region" --key-id "$key"
    fi
    if [ "$manager" = "CUSTOMER" ] && [ "$spec" = "SYMMETRIC_DEFAULT" ]; then
      aws kms enable-key-rotation --region "$region" --key-id "$key" || echo "enable-key-rotation failed for $key"
    fi
  done
done

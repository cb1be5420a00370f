output "state_bucket" {
  description = "bucket = ... in envs/<env>.s3.tfbackend."
  value       = aws_s3_bucket.state.id
}

output "lock_table" {
  description = "dynamodb_table = ... in envs/<env>.s3.tfbackend."
  value       = aws_dynamodb_table.lock.name
}

output "state_key_arn" {
  description = "Key encrypting the state; principals that run terraform need kms:Decrypt/GenerateDataKey on it."
  value       = aws_kms_key.state.arn
}

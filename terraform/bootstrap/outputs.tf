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

output "terraform_plan_role_arn" {
  description = "GitHub repository variable AWS_TERRAFORM_PLAN_ROLE_ARN_DEV or _PROD."
  value       = aws_iam_role.plan.arn
}

output "terraform_apply_role_arn" {
  description = "Variable AWS_TERRAFORM_APPLY_ROLE_ARN of the terraform-<env> GitHub environment."
  value       = aws_iam_role.apply.arn
}

output "operator_policy_arn" {
  description = "Managed policy for on-call operators of crowdfund-console --aws."
  value       = aws_iam_policy.operator.arn
}

output "read_only_operator_policy_arn" {
  description = "Managed policy for read-only operators (crowdfund-console --aws --read-only)."
  value       = aws_iam_policy.read_only_operator.arn
}

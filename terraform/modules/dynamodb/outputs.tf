output "table_name" {
  description = "Name of the payments table."
  value       = aws_dynamodb_table.payments.name
}

output "table_arn" {
  description = "ARN of the payments table."
  value       = aws_dynamodb_table.payments.arn
}

output "index_name" {
  description = "Name of the project/time index."
  value       = var.table.index_name
}

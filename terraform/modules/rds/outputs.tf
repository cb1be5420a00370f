output "primary_address" {
  description = "Host name of the writable primary."
  value       = aws_db_instance.primary.address
}

output "replica_address" {
  description = "Host name of the read replica."
  value       = aws_db_instance.replica.address
}

output "database_name" {
  description = "Schema name."
  value       = aws_db_instance.primary.db_name
}

output "master_secret_arn" {
  description = "Secrets Manager secret holding {username, password} of the master user."
  value       = aws_db_instance.primary.master_user_secret[0].secret_arn
}

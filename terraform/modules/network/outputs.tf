output "vpc_id" {
  description = "VPC id."
  value       = aws_vpc.this.id
}

output "public_subnet_ids" {
  description = "Public subnets (ALB, NAT), one per AZ."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "Private subnets (tasks, Lambdas, RDS), one per AZ."
  value       = aws_subnet.private[*].id
}

output "nat_public_cidrs" {
  description = "The NAT gateways' public addresses as /32s: the source of VPC-originated calls to the ALB."
  value       = [for ip in aws_eip.nat[*].public_ip : "${ip}/32"]
}

output "alb_security_group_id" {
  description = "Security group of the ALB."
  value       = aws_security_group.alb.id
}

output "ecs_security_group_id" {
  description = "Security group of the crowdfund-api tasks."
  value       = aws_security_group.ecs.id
}

output "rds_security_group_id" {
  description = "Security group of MySQL."
  value       = aws_security_group.rds.id
}

output "lambda_security_group_id" {
  description = "Security group of the Lambdas."
  value       = aws_security_group.lambda.id
}

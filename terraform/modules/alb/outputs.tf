output "arn" {
  description = "ARN of the ALB."
  value       = aws_lb.this.arn
}

output "arn_suffix" {
  description = "ARN suffix of the ALB (CloudWatch dimension and request-count scaling label)."
  value       = aws_lb.this.arn_suffix
}

output "dns_name" {
  description = "DNS name to point api_domain_name at."
  value       = aws_lb.this.dns_name
}

output "zone_id" {
  description = "Hosted zone of the ALB, for an alias record."
  value       = aws_lb.this.zone_id
}

output "target_group_arns" {
  description = "Target group ARN per crowdfund-api role."
  value       = { for role, tg in aws_lb_target_group.role : role => tg.arn }
}

output "target_group_arn_suffixes" {
  description = "Target group ARN suffix per role."
  value       = { for role, tg in aws_lb_target_group.role : role => tg.arn_suffix }
}

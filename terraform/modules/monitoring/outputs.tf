output "alarm_topic_arn" {
  description = "Topic every alarm notifies (subscribe pagers and chat here)."
  value       = aws_sns_topic.alarms.arn
}

output "dashboard_names" {
  description = "The two dashboards."
  value       = [aws_cloudwatch_dashboard.ops.dashboard_name, aws_cloudwatch_dashboard.stakeholders.dashboard_name]
}

output "alarm_names" {
  description = "Alarms created from alarms.json."
  value       = keys(aws_cloudwatch_metric_alarm.generated)
}

output "composite_alarm_names" {
  description = "Composite alarms created from composite-alarms.json."
  value       = keys(aws_cloudwatch_composite_alarm.generated)
}

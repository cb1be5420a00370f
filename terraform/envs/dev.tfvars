environment         = "dev"
payment_gateway     = "sandbox"
github_repository   = "example-org/crowdfund"
aws_region          = "ap-northeast-2"
availability_zones  = ["ap-northeast-2a", "ap-northeast-2c"]
vpc_cidr            = "10.40.0.0/16"
single_nat_gateway  = true
deletion_protection = false

acm_certificate_arn = "arn:aws:acm:ap-northeast-2:111111111111:certificate/REPLACE-ME"
api_domain_name     = "api.dev.crowdfund.example.com"

api_services = {
  funding      = { cpu = 256, memory = 512, desired_count = 1, min_count = 1, max_count = 2 }
  "funding-rw" = { cpu = 256, memory = 512, desired_count = 1, min_count = 1, max_count = 2 }
  payment      = { cpu = 256, memory = 512, desired_count = 1, min_count = 1, max_count = 2 }
}

# The smallest class with Performance Insights for MySQL.
db_instance_class    = "db.t4g.medium"
db_allocated_storage = 20

lambda_zip_dir              = "../target/lambda"
lambda_reserved_concurrency = 5
dashboards_dir              = "../target/dashboards/dev"

ses_domain       = "dev.crowdfund.example.com"
ses_from_address = "receipts@dev.crowdfund.example.com"

# Dev keeps logs a month; prod keeps the default year.
log_retention_days = 30

broker_throttle_rate  = 20
broker_throttle_burst = 40

environment         = "prod"
payment_gateway     = "toss"
github_repository   = "example-org/crowdfund"
aws_region          = "ap-northeast-2"
availability_zones  = ["ap-northeast-2a", "ap-northeast-2c"]
vpc_cidr            = "10.50.0.0/16"
single_nat_gateway  = false
deletion_protection = true

acm_certificate_arn = "arn:aws:acm:ap-northeast-2:222222222222:certificate/REPLACE-ME"
api_domain_name     = "api.crowdfund.example.com"

api_services = {
  funding      = { cpu = 512, memory = 1024, desired_count = 2, min_count = 2, max_count = 10 }
  "funding-rw" = { cpu = 512, memory = 1024, desired_count = 2, min_count = 2, max_count = 6 }
  payment      = { cpu = 512, memory = 1024, desired_count = 2, min_count = 2, max_count = 10 }
}

db_instance_class    = "db.r6g.large"
db_allocated_storage = 100

lambda_zip_dir              = "../target/lambda"
lambda_reserved_concurrency = 50
dashboards_dir              = "../target/dashboards/prod"

ses_domain       = "crowdfund.example.com"
ses_from_address = "receipts@crowdfund.example.com"
alarm_email      = "oncall@crowdfund.example.com"

log_retention_days = 365

broker_throttle_rate  = 200
broker_throttle_burst = 400

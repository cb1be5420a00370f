locals {
  name = "${var.project}-${var.environment}"
}

module "kms" {
  source = "./modules/kms"
  name   = local.name
}

module "network" {
  source             = "./modules/network"
  name               = local.name
  cidr               = var.vpc_cidr
  availability_zones = var.availability_zones
  single_nat_gateway = var.single_nat_gateway
  kms_key_arn        = module.kms.key_arn
  log_retention_days = var.log_retention_days
}

module "waf" {
  source             = "./modules/waf"
  name               = local.name
  internal_cidrs     = module.network.nat_public_cidrs
  kms_key_arn        = module.kms.key_arn
  log_retention_days = var.log_retention_days
}

module "alb" {
  source                = "./modules/alb"
  name                  = local.name
  vpc_id                = module.network.vpc_id
  public_subnet_ids     = module.network.public_subnet_ids
  security_group_id     = module.network.alb_security_group_id
  certificate_arn       = var.acm_certificate_arn
  internal_source_cidrs = module.network.nat_public_cidrs
  waf_acl_arn           = module.waf.acl_arn
  deletion_protection   = var.deletion_protection
}

module "ecr" {
  source      = "./modules/ecr"
  name        = "${var.project}-api"
  kms_key_arn = module.kms.key_arn
}

module "rds" {
  source              = "./modules/rds"
  name                = local.name
  instance_class      = var.db_instance_class
  allocated_storage   = var.db_allocated_storage
  subnet_ids          = module.network.private_subnet_ids
  security_group_id   = module.network.rds_security_group_id
  kms_key_arn         = module.kms.key_arn
  deletion_protection = var.deletion_protection
}

module "dynamodb" {
  source              = "./modules/dynamodb"
  table               = local.topology.payments_table
  kms_key_arn         = module.kms.key_arn
  deletion_protection = var.deletion_protection
}

module "messaging" {
  source      = "./modules/messaging"
  topics      = local.topology.topics
  queues      = local.topology.queues
  kms_key_arn = module.kms.key_arn
}

module "ses" {
  source          = "./modules/ses"
  name            = local.name
  domain          = var.ses_domain
  route53_zone_id = var.route53_zone_id
}

module "lambdas" {
  source                = "./modules/lambdas"
  name                  = local.name
  functions             = local.topology.functions
  lambda_zip_dir        = var.lambda_zip_dir
  memory_mb             = var.lambda_memory_mb
  reserved_concurrency  = var.lambda_reserved_concurrency
  log_retention_days    = var.log_retention_days
  kms_key_arn           = module.kms.key_arn
  subnet_ids            = module.network.private_subnet_ids
  security_group_id     = module.network.lambda_security_group_id
  topic_arns            = module.messaging.topic_arns
  queue_arns            = module.messaging.queue_arns
  queue_urls            = module.messaging.queue_urls
  table_arn             = module.dynamodb.table_arn
  table_name            = module.dynamodb.table_name
  index_name            = module.dynamodb.index_name
  ses_identity_arn      = module.ses.identity_arn
  ses_configuration_set = module.ses.configuration_set_name
  ses_from_address      = var.ses_from_address
  funding_api_url       = "https://${var.api_domain_name}"
  metrics_namespace     = local.metrics_namespace
  stage                 = var.environment
  payment_gateway       = var.payment_gateway
}

module "operators" {
  source     = "./modules/operators"
  name       = local.name
  queue_arns = module.messaging.queue_arns
  topic_arns = module.messaging.topic_arns
  table_arn  = module.dynamodb.table_arn
  index_name = module.dynamodb.index_name

  # The names only (not the module's outputs), so the policies do not wait for the functions.
  function_names = keys(local.topology.functions)
}

module "apigateway" {
  source             = "./modules/apigateway"
  name               = local.name
  function_name      = module.lambdas.function_names["broker"]
  invoke_arn         = module.lambdas.live_invoke_arns["broker"]
  alias_name         = module.lambdas.alias_name
  destinations       = local.topology.broker_destinations
  throttle_rate      = var.broker_throttle_rate
  throttle_burst     = var.broker_throttle_burst
  waf_acl_arn        = module.waf.acl_arn
  kms_key_arn        = module.kms.key_arn
  log_retention_days = var.log_retention_days
}

module "ecs" {
  source                    = "./modules/ecs"
  name                      = local.name
  aws_region                = var.aws_region
  image_repository          = module.ecr.repository_url
  image_repository_arn      = module.ecr.repository_arn
  image_tag                 = var.api_image_tag
  services                  = var.api_services
  subnet_ids                = module.network.private_subnet_ids
  security_group_id         = module.network.ecs_security_group_id
  target_group_arns         = module.alb.target_group_arns
  alb_arn_suffix            = module.alb.arn_suffix
  target_group_arn_suffixes = module.alb.target_group_arn_suffixes
  db_host                   = module.rds.primary_address
  db_replica_host           = module.rds.replica_address
  db_name                   = module.rds.database_name
  db_secret_arn             = module.rds.master_secret_arn
  broker_url                = module.apigateway.broker_url
  broker_execute_arn        = module.apigateway.broker_execute_arn
  table_arn                 = module.dynamodb.table_arn
  table_name                = module.dynamodb.table_name
  kms_key_arn               = module.kms.key_arn
  log_retention_days        = var.log_retention_days
}

module "monitoring" {
  source         = "./modules/monitoring"
  name           = local.name
  dashboards_dir = var.dashboards_dir
  alarm_email    = var.alarm_email
  kms_key_arn    = module.kms.key_arn
}

module "cicd" {
  source                 = "./modules/cicd"
  name                   = local.name
  github_repository      = var.github_repository
  github_environment     = var.environment
  ecr_repository_arn     = module.ecr.repository_arn
  ecs_cluster_name       = module.ecs.cluster_name
  ecs_service_names      = module.ecs.service_names
  ecs_execution_role_arn = module.ecs.execution_role_arn
  ecs_task_role_arns     = module.ecs.task_role_arns
  lambda_function_arns   = module.lambdas.function_arns
}

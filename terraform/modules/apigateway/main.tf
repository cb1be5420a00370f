resource "aws_api_gateway_rest_api" "this" {
  name        = "${var.name}-broker"
  description = "crowdfund broker: POST /broker publishes to the topic named by destination"

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_resource" "broker" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = "broker"
}

# Structural validation at the edge; the broker λ still checks every field (amounts, ids).
resource "aws_api_gateway_model" "broker_request" {
  rest_api_id  = aws_api_gateway_rest_api.this.id
  name         = "BrokerRequest"
  content_type = "application/json"

  schema = jsonencode({
    "$schema" = "http://json-schema.org/draft-04/schema#"
    title     = "BrokerRequest"
    type      = "object"
    required  = ["destination"]
    properties = {
      destination = { type = "string", enum = var.destinations }
      paymentId   = { type = "string", minLength = 1, maxLength = 64 }
      projectId   = { type = "string", minLength = 1, maxLength = 64 }
      backerEmail = { type = "string", maxLength = 254 }
      amount      = { type = "integer", minimum = 1 }
      currency    = { type = "string", pattern = "^[A-Z]{3}$" }
      card       = { type = "string", minLength = 1, maxLength = 200 }
      achievedAt = { type = "string", minLength = 1, maxLength = 64 }
    }
  })
}

resource "aws_api_gateway_request_validator" "body" {
  rest_api_id           = aws_api_gateway_rest_api.this.id
  name                  = "body"
  validate_request_body = true
}

# Callers (the payment role of crowdfund-api, operators) sign with SigV4; no anonymous access.
resource "aws_api_gateway_method" "post_broker" {
  rest_api_id          = aws_api_gateway_rest_api.this.id
  resource_id          = aws_api_gateway_resource.broker.id
  http_method          = "POST"
  authorization        = "AWS_IAM"
  request_validator_id = aws_api_gateway_request_validator.body.id
  request_models       = { "application/json" = aws_api_gateway_model.broker_request.name }
}

resource "aws_api_gateway_integration" "post_broker" {
  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = aws_api_gateway_resource.broker.id
  http_method             = aws_api_gateway_method.post_broker.http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = var.invoke_arn
}

# Validation failures answer in the broker's own 400 shape: {"error": ..., "field": ...}.
resource "aws_api_gateway_gateway_response" "bad_body" {
  rest_api_id   = aws_api_gateway_rest_api.this.id
  response_type = "BAD_REQUEST_BODY"
  status_code   = "400"

  response_templates = {
    "application/json" = "{\"error\": \"$context.error.validationErrorString\", \"field\": null}"
  }
}

resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id

  triggers = {
    redeployment = sha1(jsonencode([
      aws_api_gateway_resource.broker.id,
      aws_api_gateway_method.post_broker,
      aws_api_gateway_integration.post_broker,
      aws_api_gateway_model.broker_request.schema,
      aws_api_gateway_gateway_response.bad_body,
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_cloudwatch_log_group" "access" {
  name              = "/${var.name}/apigateway/broker"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_api_gateway_stage" "this" {
  #checkov:skip=CKV2_AWS_77:the attached web ACL (modules/waf) runs AWSManagedRulesKnownBadInputsRuleSet (Log4j); AnonymousIpList is left out because its hosting-provider list would block the VPC's own NAT-originated calls; checkov does not follow the ACL across modules
  #checkov:skip=CKV_AWS_120:POST /broker publishes a message per call; a cached answer would drop payments
  #checkov:skip=CKV2_AWS_51:callers authenticate with SigV4 (AWS_IAM), not client certificates
  deployment_id        = aws_api_gateway_deployment.this.id
  rest_api_id          = aws_api_gateway_rest_api.this.id
  stage_name           = var.stage_name
  xray_tracing_enabled = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId      = "$context.requestId"
      ip             = "$context.identity.sourceIp"
      caller         = "$context.identity.caller"
      requestTime    = "$context.requestTime"
      httpMethod     = "$context.httpMethod"
      resourcePath   = "$context.resourcePath"
      status         = "$context.status"
      responseLength = "$context.responseLength"
      error          = "$context.error.message"
      validation     = "$context.error.validationErrorString"
    })
  }

  depends_on = [aws_api_gateway_account.this]
}

resource "aws_api_gateway_method_settings" "all" {
  #checkov:skip=CKV_AWS_225:POST /broker must reach the broker every time; caching is off on purpose
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    logging_level          = "INFO"
    data_trace_enabled     = false
    throttling_rate_limit  = var.throttle_rate
    throttling_burst_limit = var.throttle_burst
    caching_enabled        = false
  }
}

resource "aws_wafv2_web_acl_association" "stage" {
  resource_arn = aws_api_gateway_stage.this.arn
  web_acl_arn  = var.waf_acl_arn
}

# The stage wildcard (*) keeps the permission valid for every stage and redeployment; a
# stage-specific source_arn silently breaks invocation after a stage rename.
resource "aws_lambda_permission" "broker" {
  statement_id  = "AllowApiGatewayPostBroker"
  action        = "lambda:InvokeFunction"
  function_name = var.function_name
  qualifier     = var.alias_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.this.execution_arn}/*/POST/broker"
}

# API Gateway writes execution logs with one account-wide role.
data "aws_iam_policy_document" "apigw_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cloudwatch" {
  name               = "${var.name}-apigateway-cloudwatch"
  assume_role_policy = data.aws_iam_policy_document.apigw_assume.json
}

resource "aws_iam_role_policy_attachment" "cloudwatch" {
  role       = aws_iam_role.cloudwatch.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

data "aws_partition" "current" {}

resource "aws_api_gateway_account" "this" {
  cloudwatch_role_arn = aws_iam_role.cloudwatch.arn
}

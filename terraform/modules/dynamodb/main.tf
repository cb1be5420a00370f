# The payment ledger. The index answers "payments of project P after time T" for
# transaction_check with a Query, never a Scan.
resource "aws_dynamodb_table" "payments" {
  name                        = var.table.name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = var.table.partition_key
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = var.table.partition_key
    type = "S"
  }

  attribute {
    name = var.table.index_partition_key
    type = "S"
  }

  # RFC 3339 UTC strings sort in time order.
  attribute {
    name = var.table.index_sort_key
    type = "S"
  }

  global_secondary_index {
    name            = var.table.index_name
    hash_key        = var.table.index_partition_key
    range_key       = var.table.index_sort_key
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }
}

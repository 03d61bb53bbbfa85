output "cluster_name" {
  description = "The EKS cluster Tandem runs in."
  value       = local.cluster_name
}

output "database_endpoint" {
  description = "RDS PostgreSQL host name (private)."
  value       = aws_db_instance.this.address
}

output "redis_endpoint" {
  description = "ElastiCache primary endpoint (private)."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "connections_secret" {
  description = "The Kubernetes Secret holding database-url, redis-url and smtp-url."
  value       = "${var.namespace}/${kubernetes_secret.tandem.metadata[0].name}"
}

output "public_url" {
  description = "Where Tandem answers once DNS points at the ALB."
  value       = var.public_url
}

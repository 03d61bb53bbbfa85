output "cluster_name" {
  description = "The GKE cluster Tandem runs in."
  value       = local.cluster_name
}

output "database_private_ip" {
  description = "Cloud SQL's private address."
  value       = google_sql_database_instance.this.private_ip_address
}

output "redis_host" {
  description = "Memorystore's private address."
  value       = google_redis_instance.this.host
}

output "connections_secret" {
  description = "The Kubernetes Secret holding database-url, redis-url and smtp-url."
  value       = "${var.namespace}/${kubernetes_secret.tandem.metadata[0].name}"
}

output "cluster_name" {
  description = "The AKS cluster Tandem runs in."
  value       = data.azurerm_kubernetes_cluster.this.name
}

output "database_fqdn" {
  description = "The PostgreSQL Flexible Server's private host name."
  value       = azurerm_postgresql_flexible_server.this.fqdn
}

output "redis_hostname" {
  description = "Azure Cache for Redis's host name."
  value       = azurerm_redis_cache.this.hostname
}

output "connections_secret" {
  description = "The Kubernetes Secret holding database-url, redis-url and smtp-url."
  value       = "${var.namespace}/${kubernetes_secret.tandem.metadata[0].name}"
}

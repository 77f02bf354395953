"""The bundled demo news site and the loopback HTTP server it runs on."""

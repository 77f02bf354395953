"""newswatch's web app for analysts: server-rendered pages over the API's runtime."""

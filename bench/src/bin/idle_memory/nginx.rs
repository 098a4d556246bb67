//! Debian's nginx (`nginx-light`) as the floor of the HTTP measurement: one
//! process (no master), one worker's event loop, keep-alive for as long as
//! the measurement lasts, `GET /plaintext` answered from the configuration.

use std::path::PathBuf;

/// Where Debian installs it.
const NGINX: &str = "/usr/sbin/nginx";

/// A configuration written to a directory of its own, removed when dropped.
pub(crate) struct Nginx {
    dir: PathBuf,
}

impl Nginx {
    pub(crate) fn configure(port: u16) -> Nginx {
        let dir = std::env::temp_dir().join(format!("idle-memory-nginx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("nginx's directory");
        let d = dir.display();
        let config = format!(
            "daemon off;\n\
             master_process off;\n\
             worker_processes 1;\n\
             worker_rlimit_nofile 65536;\n\
             error_log {d}/error.log;\n\
             pid {d}/nginx.pid;\n\
             events {{ worker_connections 65536; }}\n\
             http {{\n\
             \x20   access_log off;\n\
             \x20   keepalive_timeout 3600s;\n\
             \x20   keepalive_requests 1000000;\n\
             \x20   client_body_temp_path {d}/body;\n\
             \x20   proxy_temp_path {d}/proxy;\n\
             \x20   fastcgi_temp_path {d}/fastcgi;\n\
             \x20   uwsgi_temp_path {d}/uwsgi;\n\
             \x20   scgi_temp_path {d}/scgi;\n\
             \x20   server {{\n\
             \x20       listen 127.0.0.1:{port};\n\
             \x20       location /plaintext {{ default_type text/plain; return 200 \"Hello, World!\"; }}\n\
             \x20   }}\n\
             }}\n"
        );
        std::fs::write(dir.join("nginx.conf"), config).expect("write nginx.conf");
        Nginx { dir }
    }

    /// The command that runs nginx in the foreground with this configuration.
    pub(crate) fn command(&self) -> Vec<String> {
        let d = self.dir.display().to_string();
        vec![
            NGINX.to_string(),
            "-p".to_string(),
            d.clone(),
            "-c".to_string(),
            format!("{d}/nginx.conf"),
            "-e".to_string(),
            format!("{d}/error.log"),
        ]
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

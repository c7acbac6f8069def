#include "config.h"

#include "http.h"

/* Apart from the transport, so that the fuzz targets' fake transports can
 * free answers without linking libcurl's side of http.c. */
void http_response_free(struct http_response *resp)
{
	buf_wipe(&resp->body);
	secret_free(resp->authorization);
	secret_free(resp->retry_after);
	secret_free(resp->trace_id);
	resp->authorization = resp->retry_after = resp->trace_id = NULL;
	resp->status = 0;
}

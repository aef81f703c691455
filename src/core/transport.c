/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "core/transport.h"

void transport_response_free(struct transport_response *response)
{
    free(response->headers);
    free(response->final_url);
    response->headers = response->final_url = NULL;
}

void transport_reply_free(struct transport_reply *reply)
{
    free(reply->headers);
    reply->headers = NULL;
}

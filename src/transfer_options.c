/* SPDX-License-Identifier: MIT */
/* The job's transfer options as a transfer sees them (src/transport.h). */
#include <stdlib.h>

#include "job.h"
#include "transport.h"

void transfer_options_free(struct transfer_options *options)
{
    ULONG i;

    if (!options) return;
    free(options->proxy_list);
    free(options->proxy_bypass);
    for (i = 0; i < options->credential_count; ++i)
    {
        free(options->credentials[i].user);
        free_secret(options->credentials[i].password);
    }
    free(options->credentials);
    free_secret(options->custom_headers);
    free(options->http_method);
    free(options->certificate_store);
    free(options->certificate_subject);
    if (options->helper_token) CloseHandle(options->helper_token);
    free(options);
}

// InitProducerId: v0-5.  Idempotent producers get a fresh producer id at epoch 0; v3+ may name their
// current id and epoch, which we bump (a new id when the epoch would overflow); v2 flexible; v4-5
// change only error codes.  Transactional ids are refused: transactions are not offered.
#include "gateway/broker.h"
#include "gateway/handlers/handlers.h"
#include "generated/init_producer_id_request.h"
#include "generated/init_producer_id_response.h"

namespace gateway {

void register_init_producer_id(kafka::Dispatcher& d, Broker& broker) {
    d.add(kafka::InitProducerIdRequest::api_key, 0, 5, [&broker](const kafka::ExchangePtr& ex) {
        kafka::InitProducerIdRequest req;
        kafka::Reader r = ex->body();
        req.decode(r, ex->version());
        kafka::InitProducerIdResponse resp;
        if (req.transactional_id) {
            resp.error_code = code(ErrorCode::transactional_id_not_found);
            resp.producer_id = -1;
            resp.producer_epoch = -1;
        } else if (req.producer_id >= 0 && req.producer_epoch >= 0 && req.producer_epoch < INT16_MAX - 1) {
            resp.producer_id = req.producer_id;
            resp.producer_epoch = static_cast<int16_t>(req.producer_epoch + 1);
        } else {
            resp.producer_id = broker.producers().allocate_producer_id();
            resp.producer_epoch = 0;
        }
        ex->respond(resp);
    });
}

} // namespace gateway
